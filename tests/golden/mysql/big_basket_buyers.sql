SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    AVG(
      CASE
        WHEN (
          `r2`.`status` IS NULL
          OR NOT `r2`.`status` IN ('returned' COLLATE utf8mb4_bin, 'cancelled' COLLATE utf8mb4_bin)
        )
        THEN `r2`.`amount`
      END
    ) AS `v1`,
    MAX(`r2`.`amount`) AS `v2`,
    MIN(`r2`.`amount`) AS `v3`
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
    `m3`.`v1` > 250
    AND `m3`.`v2` >= 350
    AND (
      `m3`.`v3` >= 50 AND `m3`.`v3` <= 10000
    )
  );
