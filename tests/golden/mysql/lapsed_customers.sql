SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    MIN(`r2`.`ordered_at`) AS `v1`,
    MAX(`r2`.`ordered_at`) AS `v2`
  FROM `main`.`orders` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND (
      `r2`.`ordered_at` IS NULL
      OR `r2`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `m3`.`v1` < CAST('2026-05-05 06:00:00' AS DATETIME(6))
    AND (
      `m3`.`v2` IS NULL
      OR NOT (
        `m3`.`v2` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
        AND `m3`.`v2` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
      )
    )
  );
