SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r2`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
        AND `r2`.`event_name` = 'add_to_cart' COLLATE utf8mb4_bin
        AND `r2`.`cart_value` > 300
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN `r2`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
        AND `r2`.`event_name` = 'purchase' COLLATE utf8mb4_bin
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
          `r2`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
          AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
        AND (
          `r2`.`event_name` = 'add_to_cart' COLLATE utf8mb4_bin AND `r2`.`cart_value` > 300
        )
      )
      OR (
        (
          `r2`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
          AND `r2`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
        AND `r2`.`event_name` = 'purchase' COLLATE utf8mb4_bin
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
      AND LOCATE('@' COLLATE utf8mb4_bin, `e1`.`email`) > 0
      AND (
        `e1`.`email` IS NULL
        OR NOT REGEXP_INSTR(`e1`.`email`, '^staff[0-9]+@' COLLATE utf8mb4_bin) > 0
      )
    )
  );
