SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`
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
    `r2`.`customer_id` AS `k`,
    MIN(`r2`.`ordered_at`) AS `v1`,
    MAX(`r2`.`ordered_at`) AS `v2`,
    SUM(CASE WHEN `r2`.`status` = 'completed' COLLATE utf8mb4_bin THEN `r2`.`amount` END) AS `v3`,
    COUNT(
      CASE
        WHEN `r2`.`ordered_at` > CAST('2025-11-01 06:00:00' AS DATETIME(6))
        AND `r2`.`status` IN ('completed' COLLATE utf8mb4_bin)
        THEN 1
      END
    ) AS `v4`
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
LEFT JOIN (
  SELECT
    `b4`.`customer_id` AS `k`,
    CASE
      WHEN `m7`.`v1` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `m7`.`v1` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `m7`.`v1` IS NULL THEN 1 ELSE 0 END, CASE WHEN `m7`.`v1` IS NULL THEN 1 ELSE 0 END, `m7`.`v1`
      )
    END AS `r1`,
    COUNT(`m7`.`v1`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`m7`.`v2`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`m7`.`v2`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`m7`.`v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`m7`.`v3`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `main`.`customers` AS `b4`
  LEFT JOIN (
    SELECT
      SQL_BIG_RESULT
      `r6`.`customer_id` AS `k`,
      MAX(`r6`.`ordered_at`) AS `v1`,
      COUNT(*) AS `v2`,
      SUM(`r6`.`amount`) AS `v3`
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
    ON `m7`.`k` = `b4`.`customer_id`
  WHERE
    NOT `b4`.`customer_id` IS NULL
) AS `q5`
  ON `q5`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      `m3`.`v1` < CAST('2026-05-05 06:00:00' AS DATETIME(6))
      AND (
        `m3`.`v2` IS NULL
        OR NOT (
          `m3`.`v2` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
          AND `m3`.`v2` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
      )
    )
    AND (
      (
        (
          `q5`.`r1` IS NULL OR NOT 5 * (
            `q5`.`r1` - 1
          ) >= 3 * `q5`.`c1`
        )
        OR (
          `q5`.`r2` IS NULL OR NOT 5 * (
            `q5`.`r2` - 1
          ) >= 3 * `q5`.`c2`
        )
        OR (
          `q5`.`r3` IS NULL OR NOT 5 * (
            `q5`.`r3` - 1
          ) >= 3 * `q5`.`c3`
        )
      )
      AND (
        (
          (
            NOT COALESCE(`m3`.`v3`, 0) >= 900 AND NOT COALESCE(`m3`.`v4`, 0) >= 4
          )
          AND `k9`.`k` IS NULL
        )
        OR NOT `k11`.`k` IS NULL
      )
      AND (
        (
          `q5`.`r1` IS NULL OR NOT 5 * (
            `q5`.`r1` - 1
          ) < 2 * `q5`.`c1`
        )
        OR (
          `q5`.`r2` IS NULL OR NOT 5 * (
            `q5`.`r2` - 1
          ) >= 2 * `q5`.`c2`
        )
        OR (
          `q5`.`r3` IS NULL OR NOT 5 * (
            `q5`.`r3` - 1
          ) >= 2 * `q5`.`c3`
        )
      )
    )
  );
