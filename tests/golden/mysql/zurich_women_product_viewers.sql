SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`city` AS `city`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(*) AS `v1`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    AND (
      (
        `r2`.`occurred_at` > CAST('2026-10-02 06:00:00' AS DATETIME(6))
        AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
      )
      AND (
        `r2`.`event_name` = 'page_view' COLLATE utf8mb4_bin
        AND LEFT(`r2`.`page`, 8) = 'product/' COLLATE utf8mb4_bin
      )
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `e1`.`gender` = 'female' COLLATE utf8mb4_bin
    AND LOWER(`e1`.`city`) = LOWER('zurich') COLLATE utf8mb4_bin
    AND COALESCE(`m3`.`v1`, 0) >= 1
  );
