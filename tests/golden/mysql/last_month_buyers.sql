SELECT
  `e1`.`customer_id` AS `customer_id`,
  COALESCE(`m3`.`v3`, 0) AS `completed_last_month`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN (
          `r2`.`ordered_at` >= CAST('2026-10-01 00:00:00' AS DATETIME(6))
          AND `r2`.`ordered_at` < CAST('2026-11-01 00:00:00' AS DATETIME(6))
        )
        AND `r2`.`status` = 'completed' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN `r2`.`ordered_at` >= CAST('2026-01-01 00:00:00' AS DATETIME(6))
        AND `r2`.`ordered_at` < CAST('2026-01-02 00:00:00' AS DATETIME(6))
        THEN 1
      END
    ) AS `v2`,
    SUM(
      CASE
        WHEN (
          `r2`.`ordered_at` >= CAST('2026-10-01 00:00:00' AS DATETIME(6))
          AND `r2`.`ordered_at` < CAST('2026-11-01 00:00:00' AS DATETIME(6))
        )
        AND `r2`.`status` = 'completed' COLLATE utf8mb4_bin
        THEN `r2`.`amount`
      END
    ) AS `v3`
  FROM `main`.`orders` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND `r2`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    AND (
      (
        (
          `r2`.`ordered_at` >= CAST('2026-10-01 00:00:00' AS DATETIME(6))
          AND `r2`.`ordered_at` < CAST('2026-11-01 00:00:00' AS DATETIME(6))
        )
        AND `r2`.`status` = 'completed' COLLATE utf8mb4_bin
      )
      OR (
        `r2`.`ordered_at` >= CAST('2026-01-01 00:00:00' AS DATETIME(6))
        AND `r2`.`ordered_at` < CAST('2026-01-02 00:00:00' AS DATETIME(6))
      )
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`m3`.`v1`, 0) >= 1 OR COALESCE(`m3`.`v2`, 0) >= 1
  );
