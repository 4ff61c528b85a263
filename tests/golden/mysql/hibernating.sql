SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
    5 * (
      `q3`.`r1` - 1
    ) < 2 * `q3`.`c1`
    AND 5 * (
      `q3`.`r2` - 1
    ) < 2 * `q3`.`c2`
    AND 5 * (
      `q3`.`r3` - 1
    ) < 2 * `q3`.`c3`
  );
