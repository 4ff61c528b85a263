SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`
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
        CAST(`r2`.`occurred_at` AS DATETIME) > CAST('2026-08-01 06:00:00' AS DATETIME)
        AND CAST(`r2`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
      ),
      FALSE
    )
    AND COALESCE((
      `r2`.`event_name` = 'email_open'
    ), FALSE)
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
        CAST(`r4`.`occurred_at` AS DATETIME) > CAST('2026-08-01 06:00:00' AS DATETIME)
        AND CAST(`r4`.`occurred_at` AS DATETIME) <= CAST('2026-11-01 06:00:00' AS DATETIME)
      ),
      FALSE
    )
    AND COALESCE((
      `r4`.`event_name` = 'email_click'
    ), FALSE)
  GROUP BY
    `r4`.`customer_id`
) AS `m5`
  ON `m5`.`k` = `e1`.`customer_id`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l6`.`customer_id` AS STRING) AS `k`
  FROM `main`.`newsletter` AS `l6`
  WHERE
    NOT `l6`.`customer_id` IS NULL
) AS `k7`
  ON `k7`.`k` = CAST(`e1`.`customer_id` AS STRING)
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE((
      COALESCE(`m3`.`v`, 0) >= 1
    ), FALSE)
    AND COALESCE((
      COALESCE(`m5`.`v`, 0) >= 1
    ), FALSE)
    AND NOT `k7`.`k` IS NULL
    AND COALESCE((
      `e1`.`suppressed` = FALSE
    ), FALSE)
  );
