SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    `r2`.`customer_id` AS `k`,
    COUNT(*) AS `v`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND (
      CAST(`r2`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
    )
    AND COALESCE(
      (
        CAST(`r2`.`occurred_at` AS DATETIME) > CAST('2026-10-25 06:00:00' AS DATETIME)
        AND CAST(`r2`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
      ),
      FALSE
    )
    AND (
      COALESCE((
        `r2`.`event_name` = 'add_to_cart'
      ), FALSE)
      AND COALESCE((
        `r2`.`cart_value` > 300
      ), FALSE)
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
LEFT JOIN (
  SELECT
    `r4`.`customer_id` AS `k`,
    COUNT(*) AS `v`
  FROM `main`.`events` AS `r4`
  WHERE
    NOT `r4`.`customer_id` IS NULL
    AND (
      CAST(`r4`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
    )
    AND COALESCE(
      (
        CAST(`r4`.`occurred_at` AS DATETIME) > CAST('2026-10-25 06:00:00' AS DATETIME)
        AND CAST(`r4`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
      ),
      FALSE
    )
    AND COALESCE((
      `r4`.`event_name` = 'purchase'
    ), FALSE)
  GROUP BY
    `r4`.`customer_id`
) AS `m5`
  ON `m5`.`k` = `e1`.`customer_id`
LEFT JOIN (
  SELECT DISTINCT
    `e6`.`customer_id` AS `k`
  FROM `main`.`customers` AS `e6`
  LEFT JOIN (
    SELECT DISTINCT
      `e7`.`customer_id` AS `k`
    FROM `main`.`customers` AS `e7`
    WHERE
      NOT `e7`.`customer_id` IS NULL
      AND (
        COALESCE((
          `e7`.`suppressed` = TRUE
        ), FALSE)
        OR NOT COALESCE((
          `e7`.`email_opt_in` = TRUE
        ), FALSE)
        OR NOT COALESCE((
          INSTR(`e7`.`email`, '@') > 0
        ), FALSE)
        OR COALESCE((
          REGEXP_CONTAINS(`e7`.`email`, '^staff[0-9]+@')
        ), FALSE)
      )
  ) AS `k8`
    ON `k8`.`k` = `e6`.`customer_id`
  WHERE
    NOT `e6`.`customer_id` IS NULL AND NOT NOT `k8`.`k` IS NULL
) AS `k9`
  ON `k9`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE((
      COALESCE(`m3`.`v`, 0) >= 1
    ), FALSE)
    AND COALESCE((
      COALESCE(`m5`.`v`, 0) = 0
    ), FALSE)
    AND NOT `k9`.`k` IS NULL
  );
