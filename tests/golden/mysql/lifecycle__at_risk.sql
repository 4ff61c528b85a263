SELECT
  `e1`.`customer_id` AS `customer_id`,
  COALESCE(`m7`.`v3`, 0) AS `lifetime_spend`,
  `m7`.`v4` AS `last_order_at`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l8`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`hand_picked` AS `l8`
  WHERE
    NOT `l8`.`customer_id` IS NULL
) AS `k9`
  ON `k9`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l10`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`vip_blocklist` AS `l10`
  WHERE
    NOT `l10`.`customer_id` IS NULL
) AS `k11`
  ON `k11`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `r6`.`customer_id` AS `k`,
    SUM(CASE WHEN `r6`.`status` = 'completed' COLLATE utf8mb4_bin THEN `r6`.`amount` END) AS `v1`,
    COUNT(
      CASE
        WHEN `r6`.`ordered_at` > CAST('2025-11-01 06:00:00' AS DATETIME(6))
        AND `r6`.`status` IN ('completed' COLLATE utf8mb4_bin)
        THEN 1
      END
    ) AS `v2`,
    SUM(`r6`.`amount`) AS `v3`,
    MAX(`r6`.`ordered_at`) AS `v4`
  FROM `main`.`orders` AS `r6`
  WHERE
    NOT `r6`.`customer_id` IS NULL
    AND (
      `r6`.`ordered_at` IS NULL
      OR `r6`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
  GROUP BY
    `r6`.`customer_id`
) AS `m7`
  ON `m7`.`k` = `e1`.`customer_id`
LEFT JOIN (
  SELECT
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `m5`.`v1` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `m5`.`v1` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `m5`.`v1` IS NULL THEN 1 ELSE 0 END, CASE WHEN `m5`.`v1` IS NULL THEN 1 ELSE 0 END, `m5`.`v1`
      )
    END AS `r1`,
    COUNT(`m5`.`v1`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`m5`.`v2`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`m5`.`v2`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`m5`.`v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`m5`.`v3`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `main`.`customers` AS `b2`
  LEFT JOIN (
    SELECT
      SQL_BIG_RESULT
      `r4`.`customer_id` AS `k`,
      MAX(`r4`.`ordered_at`) AS `v1`,
      COUNT(*) AS `v2`,
      SUM(`r4`.`amount`) AS `v3`
    FROM `main`.`orders` AS `r4`
    WHERE
      NOT `r4`.`customer_id` IS NULL
      AND (
        `r4`.`ordered_at` IS NULL
        OR `r4`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
      )
    GROUP BY
      `r4`.`customer_id`
  ) AS `m5`
    ON `m5`.`k` = `b2`.`customer_id`
  WHERE
    NOT `b2`.`customer_id` IS NULL
) AS `q3`
  ON `q3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      5 * (
        `q3`.`r1` - 1
      ) < 2 * `q3`.`c1`
      AND 5 * (
        `q3`.`r2` - 1
      ) >= 2 * `q3`.`c2`
      AND 5 * (
        `q3`.`r3` - 1
      ) >= 2 * `q3`.`c3`
    )
    AND (
      (
        (
          `q3`.`r1` IS NULL OR NOT 5 * (
            `q3`.`r1` - 1
          ) >= 3 * `q3`.`c1`
        )
        OR (
          `q3`.`r2` IS NULL OR NOT 5 * (
            `q3`.`r2` - 1
          ) >= 3 * `q3`.`c2`
        )
        OR (
          `q3`.`r3` IS NULL OR NOT 5 * (
            `q3`.`r3` - 1
          ) >= 3 * `q3`.`c3`
        )
      )
      AND (
        (
          (
            NOT COALESCE(`m7`.`v1`, 0) >= 900 AND NOT COALESCE(`m7`.`v2`, 0) >= 4
          )
          AND `k9`.`k` IS NULL
        )
        OR NOT `k11`.`k` IS NULL
      )
    )
  );
