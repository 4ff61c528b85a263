SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    `r2`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN CAST(`r2`.`occurred_at` AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
        AND `r2`.`event_name` = 'add_to_cart'
        AND `r2`.`cart_value` > 300
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN CAST(`r2`.`occurred_at` AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
        AND `r2`.`event_name` = 'purchase'
        THEN 1
      END
    ) AS `v2`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND CAST(`r2`.`occurred_at` AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    AND (
      (
        (
          CAST(`r2`.`occurred_at` AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
          AND CAST(`r2`.`occurred_at` AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
        AND (
          `r2`.`event_name` = 'add_to_cart' AND `r2`.`cart_value` > 300
        )
      )
      OR (
        (
          CAST(`r2`.`occurred_at` AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
          AND CAST(`r2`.`occurred_at` AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
        AND `r2`.`event_name` = 'purchase'
      )
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`m3`.`v1`, 0) >= 1
    AND COALESCE(`m3`.`v2`, 0) = 0
    AND (
      (
        `e1`.`suppressed` IS NULL OR NOT `e1`.`suppressed` = TRUE
      )
      AND `e1`.`email_opt_in` = TRUE
      AND LOCATE('@', `e1`.`email`) > 0
      AND (
        `e1`.`email` IS NULL OR NOT REGEXP_LIKE(`e1`.`email`, '^staff[0-9]+@')
      )
    )
  );
