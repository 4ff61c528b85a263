SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`,
  `e1`.`last_name` AS `last_name`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l4`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`hand_picked` AS `l4`
  WHERE
    NOT `l4`.`customer_id` IS NULL
) AS `k5`
  ON `k5`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l6`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`vip_blocklist` AS `l6`
  WHERE
    NOT `l6`.`customer_id` IS NULL
) AS `k7`
  ON `k7`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    SUM(CASE WHEN `r2`.`status` = 'completed' COLLATE utf8mb4_bin THEN `r2`.`amount` END) AS `v1`,
    COUNT(
      CASE
        WHEN `r2`.`ordered_at` > CAST('2025-11-01 06:00:00' AS DATETIME(6))
        AND `r2`.`status` IN ('completed' COLLATE utf8mb4_bin)
        THEN 1
      END
    ) AS `v2`
  FROM `main`.`orders` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND (
      `r2`.`ordered_at` IS NULL
      OR `r2`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
    AND (
      `r2`.`status` = 'completed' COLLATE utf8mb4_bin
      OR (
        (
          `r2`.`ordered_at` > CAST('2025-11-01 06:00:00' AS DATETIME(6))
          AND `r2`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
        AND `r2`.`status` IN ('completed' COLLATE utf8mb4_bin)
      )
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      (
        COALESCE(`m3`.`v1`, 0) >= 900 OR COALESCE(`m3`.`v2`, 0) >= 4
      )
      OR NOT `k5`.`k` IS NULL
    )
    AND `k7`.`k` IS NULL
  );
