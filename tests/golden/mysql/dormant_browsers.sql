SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` < DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 14 DAY)
        AND `r2`.`event_name` = 'page_view' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` > DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 14 DAY)
        AND `r2`.`event_name` = 'page_view' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v2`,
    COUNT(CASE WHEN `r2`.`event_name` = 'purchase' COLLATE utf8mb4_bin THEN 1 END) AS `v3`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND (
      `r2`.`occurred_at` IS NULL OR `r2`.`occurred_at` <= UTC_TIMESTAMP(6)
    )
    AND (
      (
        `r2`.`occurred_at` < DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 14 DAY)
        AND `r2`.`event_name` = 'page_view' COLLATE utf8mb4_bin
      )
      OR (
        (
          `r2`.`occurred_at` > DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 14 DAY)
          AND `r2`.`occurred_at` <= UTC_TIMESTAMP(6)
        )
        AND `r2`.`event_name` = 'page_view' COLLATE utf8mb4_bin
      )
      OR `r2`.`event_name` = 'purchase' COLLATE utf8mb4_bin
    )
  GROUP BY
    `r2`.`customer_id`
) AS `m3`
  ON `m3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`m3`.`v1`, 0) >= 1
    AND (
      NOT COALESCE(`m3`.`v2`, 0) >= 1 AND NOT COALESCE(`m3`.`v3`, 0) >= 1
    )
    AND (
      NOT `e1`.`last_name` IS NULL
      AND CAST(`e1`.`last_name` AS CHAR) <> '' COLLATE utf8mb4_bin
    )
  );
