SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(DISTINCT `r2`.`event_name`) AS `v1`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND (
      `r2`.`occurred_at` IS NULL
      OR `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r4`.`customer_id` AS `k`,
    COUNT(DISTINCT `r4`.`order_id`) AS `v1`
  FROM `main`.`orders` AS `r4`
  WHERE
    NOT `r4`.`customer_id` IS NULL
    AND `r4`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    AND (
      `r4`.`ordered_at` >= CAST('2025-01-01 00:00:00' AS DATETIME(6))
      AND `r4`.`ordered_at` < CAST('2031-01-01 00:00:00' AS DATETIME(6))
    )
  GROUP BY
    `r4`.`customer_id`
) AS `m5`
  ON `m5`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`m3`.`v1`, 0) >= 4
    AND COALESCE(`m5`.`v1`, 0) >= 4
    AND (
      `e1`.customer_id <= 2000
      AND (
        `e1`.customer_id % 2 = 0 OR NOT (
          `e1`.email LIKE '%@shop.example'
        )
      )
    )
  );
