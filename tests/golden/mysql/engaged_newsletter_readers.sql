SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l4`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`newsletter` AS `l4`
  WHERE
    NOT `l4`.`customer_id` IS NULL
) AS `k5`
  ON `k5`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
        AND `r2`.`event_name` = 'email_open' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
        AND `r2`.`event_name` = 'email_click' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v2`
  FROM `main`.`events` AS `r2`
  WHERE
    NOT `r2`.`customer_id` IS NULL
    AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    AND (
      (
        (
          `r2`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
          AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
        AND `r2`.`event_name` = 'email_open' COLLATE utf8mb4_bin
      )
      OR (
        (
          `r2`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
          AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
        AND `r2`.`event_name` = 'email_click' COLLATE utf8mb4_bin
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
    AND COALESCE(`m3`.`v2`, 0) >= 1
    AND NOT `k5`.`k` IS NULL
    AND `e1`.`suppressed` = FALSE
  );
