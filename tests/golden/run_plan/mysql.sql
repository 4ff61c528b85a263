-- entity customer: one pass over events, orders; read by adults_in_romandy, at_risk, big_basket_buyers, birthdays_this_week, champions, email_unreachable, engaged_newsletter_readers, hibernating, high_value_cart_abandoners, lapsed_customers, last_month_buyers, lifecycle__at_risk, lifecycle__champions, lifecycle__hibernating, lifecycle__lapsed_customers, lifecycle__vips, loyal_multi_channel, near_zurich, new_signups, newsletter_ab_test, onboarding_followups, reachable_customers, vips, zurich_women_product_viewers
CREATE TABLE `segments`.`_segw_f_91ec1f932475` AS
SELECT
  `e`.`customer_id`,
  `e`.`birthday`,
  `e`.`city`,
  `e`.`country`,
  `e`.`email`,
  `e`.`email_opt_in`,
  `e`.`first_name`,
  `e`.`gender`,
  `e`.`last_name`,
  `e`.`latitude`,
  `e`.`longitude`,
  `e`.`signed_up_at`,
  `e`.`suppressed`,
  `f1`.`v1` AS `_segw_f1_v1`,
  `f1`.`v2` AS `_segw_f1_v2`,
  `f1`.`v3` AS `_segw_f1_v3`,
  `f1`.`v4` AS `_segw_f1_v4`,
  `f1`.`v5` AS `_segw_f1_v5`,
  `f1`.`v6` AS `_segw_f1_v6`,
  `f2`.`v1` AS `_segw_f2_v1`,
  `f2`.`v2` AS `_segw_f2_v2`,
  `f2`.`v3` AS `_segw_f2_v3`,
  `f2`.`v4` AS `_segw_f2_v4`,
  `f2`.`v5` AS `_segw_f2_v5`,
  `f2`.`v6` AS `_segw_f2_v6`,
  `f2`.`v7` AS `_segw_f2_v7`,
  `f2`.`v8` AS `_segw_f2_v8`,
  `f2`.`v9` AS `_segw_f2_v9`,
  `f2`.`v10` AS `_segw_f2_v10`,
  `f2`.`v11` AS `_segw_f2_v11`,
  `f2`.`v12` AS `_segw_f2_v12`,
  `f2`.`v13` AS `_segw_f2_v13`,
  `f2`.`v14` AS `_segw_f2_v14`
FROM `main`.`customers` AS `e`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `fr1`.`customer_id` AS `k`,
    COUNT(
      CASE
        WHEN `fr1`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
        AND `fr1`.`event_name` = 'email_open' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v1`,
    COUNT(
      CASE
        WHEN `fr1`.`occurred_at` > CAST('2026-08-01 06:00:00' AS DATETIME(6))
        AND `fr1`.`event_name` = 'email_click' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v2`,
    COUNT(
      CASE
        WHEN `fr1`.`occurred_at` > CAST('2026-10-02 06:00:00' AS DATETIME(6))
        AND `fr1`.`event_name` = 'page_view' COLLATE utf8mb4_bin
        AND LEFT(`fr1`.`page`, 8) = 'product/' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v3`,
    COUNT(DISTINCT `fr1`.`event_name`) AS `v4`,
    COUNT(
      CASE
        WHEN `fr1`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
        AND `fr1`.`event_name` = 'add_to_cart' COLLATE utf8mb4_bin
        AND `fr1`.`cart_value` > 300
        THEN 1
      END
    ) AS `v5`,
    COUNT(
      CASE
        WHEN `fr1`.`occurred_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
        AND `fr1`.`event_name` = 'purchase' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v6`
  FROM `main`.`events` AS `fr1`
  WHERE
    NOT `fr1`.`customer_id` IS NULL
    AND (
      `fr1`.`occurred_at` IS NULL
      OR `fr1`.`occurred_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
  GROUP BY
    `fr1`.`customer_id`
) AS `f1`
  ON `f1`.`k` = `e`.`customer_id`
LEFT JOIN (
  SELECT
    SQL_BIG_RESULT
    `fr2`.`customer_id` AS `k`,
    MIN(`fr2`.`ordered_at`) AS `v1`,
    MAX(`fr2`.`ordered_at`) AS `v2`,
    COUNT(*) AS `v3`,
    SUM(`fr2`.`amount`) AS `v4`,
    COUNT(
      CASE
        WHEN `fr2`.`ordered_at` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
        THEN 1
      END
    ) AS `v5`,
    COUNT(
      CASE
        WHEN (
          `fr2`.`ordered_at` >= CAST('2026-10-01 00:00:00' AS DATETIME(6))
          AND `fr2`.`ordered_at` < CAST('2026-11-01 00:00:00' AS DATETIME(6))
        )
        AND `fr2`.`status` = 'completed' COLLATE utf8mb4_bin
        THEN 1
      END
    ) AS `v6`,
    COUNT(
      CASE
        WHEN `fr2`.`ordered_at` >= CAST('2026-01-01 00:00:00' AS DATETIME(6))
        AND `fr2`.`ordered_at` < CAST('2026-01-02 00:00:00' AS DATETIME(6))
        THEN 1
      END
    ) AS `v7`,
    SUM(
      CASE
        WHEN (
          `fr2`.`ordered_at` >= CAST('2026-10-01 00:00:00' AS DATETIME(6))
          AND `fr2`.`ordered_at` < CAST('2026-11-01 00:00:00' AS DATETIME(6))
        )
        AND `fr2`.`status` = 'completed' COLLATE utf8mb4_bin
        THEN `fr2`.`amount`
      END
    ) AS `v8`,
    SUM(
      CASE WHEN `fr2`.`status` = 'completed' COLLATE utf8mb4_bin THEN `fr2`.`amount` END
    ) AS `v9`,
    COUNT(
      CASE
        WHEN `fr2`.`ordered_at` > CAST('2025-11-01 06:00:00' AS DATETIME(6))
        AND `fr2`.`status` IN ('completed' COLLATE utf8mb4_bin)
        THEN 1
      END
    ) AS `v10`,
    AVG(
      CASE
        WHEN (
          `fr2`.`status` IS NULL
          OR NOT `fr2`.`status` IN ('returned' COLLATE utf8mb4_bin, 'cancelled' COLLATE utf8mb4_bin)
        )
        THEN `fr2`.`amount`
      END
    ) AS `v11`,
    MAX(`fr2`.`amount`) AS `v12`,
    MIN(`fr2`.`amount`) AS `v13`,
    COUNT(
      DISTINCT CASE
        WHEN `fr2`.`ordered_at` >= CAST('2025-01-01 00:00:00' AS DATETIME(6))
        AND `fr2`.`ordered_at` < CAST('2031-01-01 00:00:00' AS DATETIME(6))
        THEN `fr2`.`order_id`
      END
    ) AS `v14`
  FROM `main`.`orders` AS `fr2`
  WHERE
    NOT `fr2`.`customer_id` IS NULL
    AND (
      `fr2`.`ordered_at` IS NULL
      OR `fr2`.`ordered_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
  GROUP BY
    `fr2`.`customer_id`
) AS `f2`
  ON `f2`.`k` = `e`.`customer_id`;

-- segment: engaged_newsletter_readers
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l2`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`newsletter` AS `l2`
  WHERE
    NOT `l2`.`customer_id` IS NULL
) AS `k3`
  ON `k3`.`k` = CAST(`e1`.`customer_id` AS CHAR)
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`e1`.`_segw_f1_v1`, 0) >= 1
    AND COALESCE(`e1`.`_segw_f1_v2`, 0) >= 1
    AND NOT `k3`.`k` IS NULL
    AND `e1`.`suppressed` = FALSE
  );

-- segment: zurich_women_product_viewers
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`city` AS `city`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `e1`.`gender` = 'female' COLLATE utf8mb4_bin
    AND LOWER(`e1`.`city`) = LOWER('zurich') COLLATE utf8mb4_bin
    AND COALESCE(`e1`.`_segw_f1_v3`, 0) >= 1
  );

-- segment: email_unreachable
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `e1`.`suppressed` = TRUE
    OR (
      `e1`.`email_opt_in` IS NULL OR NOT `e1`.`email_opt_in` = TRUE
    )
    OR (
      `e1`.`email` IS NULL OR NOT LOCATE('@' COLLATE utf8mb4_bin, `e1`.`email`) > 0
    )
    OR REGEXP_INSTR(`e1`.`email`, '^staff[0-9]+@' COLLATE utf8mb4_bin) > 0
  );

-- segment: lapsed_customers
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `e1`.`_segw_f2_v1` < CAST('2026-05-05 06:00:00' AS DATETIME(6))
    AND (
      `e1`.`_segw_f2_v2` IS NULL
      OR NOT (
        `e1`.`_segw_f2_v2` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
        AND `e1`.`_segw_f2_v2` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
      )
    )
  );

-- segment: new_signups
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      `e1`.`signed_up_at` > CAST('2026-09-02 06:00:00' AS DATETIME(6))
      AND `e1`.`signed_up_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
    )
    AND (
      NOT `e1`.`email` IS NULL AND CAST(`e1`.`email` AS CHAR) <> '' COLLATE utf8mb4_bin
    )
    AND `e1`.`signed_up_at` >= CAST('2020-01-02 00:00:00' AS DATETIME(6))
  );

-- segment: birthdays_this_week
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    EXTRACT(MONTH FROM CAST(`e1`.`birthday` AS DATETIME(6))) * 100 + EXTRACT(DAY FROM CAST(`e1`.`birthday` AS DATETIME(6))) IN (1101, 1102, 1103, 1104, 1105, 1106, 1107)
    AND `e1`.`birthday` < CAST('2008-01-01 00:00:00' AS DATETIME(6))
  );

-- segment: adults_in_romandy
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      `e1`.`birthday` >= CAST('1960-01-01 00:00:00' AS DATETIME(6))
      AND `e1`.`birthday` < CAST('1991-01-01 00:00:00' AS DATETIME(6))
    )
    AND `e1`.`city` IN ('Geneva' COLLATE utf8mb4_bin, 'Lausanne' COLLATE utf8mb4_bin)
    AND LEFT(LOWER(`e1`.`first_name`), 1) = LOWER('l') COLLATE utf8mb4_bin
    AND (
      `e1`.`first_name` IS NULL
      OR NOT RIGHT(`e1`.`first_name`, 1) = 'a' COLLATE utf8mb4_bin
    )
    AND `e1`.`customer_id` >= 10
    AND `e1`.`customer_id` <= 1990
    AND `e1`.`customer_id` > 0
    AND `e1`.`customer_id` < 100000
  );

-- segment: near_zurich
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    12742.0176 * ASIN(
      SQRT(
        LEAST(
          1.0,
          SIN((
            `e1`.`latitude` - 47.3779
          ) * 0.017453292519943295 / 2) * SIN((
            `e1`.`latitude` - 47.3779
          ) * 0.017453292519943295 / 2) + COS(0.8269003476806214) * COS(`e1`.`latitude` * 0.017453292519943295) * SIN((
            `e1`.`longitude` - 8.5403
          ) * 0.017453292519943295 / 2) * SIN((
            `e1`.`longitude` - 8.5403
          ) * 0.017453292519943295 / 2)
        )
      )
    ) <= 25.0
    AND `e1`.`country` = 'CH' COLLATE utf8mb4_bin
    AND LOCATE(LOWER('h') COLLATE utf8mb4_bin, LOWER(`e1`.`country`)) > 0
  );

-- segment: onboarding_followups
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      (
        `e1`.`signed_up_at` IS NULL
        OR NOT (
          `e1`.`signed_up_at` > CAST('2026-10-25 06:00:00' AS DATETIME(6))
          AND `e1`.`signed_up_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
      )
      AND (
        `e1`.`signed_up_at` > CAST('2026-10-02 06:00:00' AS DATETIME(6))
        AND `e1`.`signed_up_at` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
      )
    )
    OR (
      `e1`.`signed_up_at` > CAST('2026-11-01 06:00:00' AS DATETIME(6))
      AND `e1`.`signed_up_at` <= CAST('2026-12-01 06:00:00' AS DATETIME(6))
    )
  );

-- segment: champions
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`,
  COALESCE(`e1`.`_segw_f2_v4`, 0) AS `lifetime_spend`,
  `e1`.`_segw_f2_v2` AS `last_order_at`,
  COALESCE(`e1`.`_segw_f2_v5`, 0) AS `orders_90d`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
  WHERE
    NOT `b2`.`customer_id` IS NULL
) AS `q3`
  ON `q3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    5 * (
      `q3`.`r1` - 1
    ) >= 3 * `q3`.`c1`
    AND 5 * (
      `q3`.`r2` - 1
    ) >= 3 * `q3`.`c2`
    AND 5 * (
      `q3`.`r3` - 1
    ) >= 3 * `q3`.`c3`
  );

-- segment: at_risk
SELECT
  `e1`.`customer_id` AS `customer_id`,
  COALESCE(`e1`.`_segw_f2_v4`, 0) AS `lifetime_spend`,
  `e1`.`_segw_f2_v2` AS `last_order_at`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
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
    ) >= 2 * `q3`.`c2`
    AND 5 * (
      `q3`.`r3` - 1
    ) >= 2 * `q3`.`c3`
  );

-- segment: hibernating
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
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

-- segment: last_month_buyers
SELECT
  `e1`.`customer_id` AS `customer_id`,
  COALESCE(`e1`.`_segw_f2_v8`, 0) AS `completed_last_month`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`e1`.`_segw_f2_v6`, 0) >= 1 OR COALESCE(`e1`.`_segw_f2_v7`, 0) >= 1
  );

-- segment: vips
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`,
  `e1`.`last_name` AS `last_name`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l2`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`hand_picked` AS `l2`
  WHERE
    NOT `l2`.`customer_id` IS NULL
) AS `k3`
  ON `k3`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l4`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`vip_blocklist` AS `l4`
  WHERE
    NOT `l4`.`customer_id` IS NULL
) AS `k5`
  ON `k5`.`k` = CAST(`e1`.`customer_id` AS CHAR)
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      (
        COALESCE(`e1`.`_segw_f2_v9`, 0) >= 900 OR COALESCE(`e1`.`_segw_f2_v10`, 0) >= 4
      )
      OR NOT `k3`.`k` IS NULL
    )
    AND `k5`.`k` IS NULL
  );

-- segment: big_basket_buyers
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    `e1`.`_segw_f2_v11` > 250
    AND `e1`.`_segw_f2_v12` >= 350
    AND (
      `e1`.`_segw_f2_v13` >= 50 AND `e1`.`_segw_f2_v13` <= 10000
    )
  );

-- segment: loyal_multi_channel
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`e1`.`_segw_f1_v4`, 0) >= 4
    AND COALESCE(`e1`.`_segw_f2_v14`, 0) >= 4
    AND (
      `e1`.customer_id <= 2000
      AND (
        `e1`.customer_id % 2 = 0 OR NOT (
          `e1`.email LIKE '%@shop.example'
        )
      )
    )
  );

-- segment: reachable_customers
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
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
  );

-- segment: lifecycle__champions
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`,
  COALESCE(`e1`.`_segw_f2_v4`, 0) AS `lifetime_spend`,
  `e1`.`_segw_f2_v2` AS `last_order_at`,
  COALESCE(`e1`.`_segw_f2_v5`, 0) AS `orders_90d`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
  WHERE
    NOT `b2`.`customer_id` IS NULL
) AS `q3`
  ON `q3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    5 * (
      `q3`.`r1` - 1
    ) >= 3 * `q3`.`c1`
    AND 5 * (
      `q3`.`r2` - 1
    ) >= 3 * `q3`.`c2`
    AND 5 * (
      `q3`.`r3` - 1
    ) >= 3 * `q3`.`c3`
  );

-- segment: lifecycle__vips
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`,
  `e1`.`first_name` AS `first_name`,
  `e1`.`last_name` AS `last_name`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l2`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`hand_picked` AS `l2`
  WHERE
    NOT `l2`.`customer_id` IS NULL
) AS `k3`
  ON `k3`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l4`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`vip_blocklist` AS `l4`
  WHERE
    NOT `l4`.`customer_id` IS NULL
) AS `k5`
  ON `k5`.`k` = CAST(`e1`.`customer_id` AS CHAR)
LEFT JOIN (
  SELECT
    `b6`.`customer_id` AS `k`,
    CASE
      WHEN `b6`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b6`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b6`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b6`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b6`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b6`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b6`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b6`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b6`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b6`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b6`
  WHERE
    NOT `b6`.`customer_id` IS NULL
) AS `q7`
  ON `q7`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      (
        (
          COALESCE(`e1`.`_segw_f2_v9`, 0) >= 900 OR COALESCE(`e1`.`_segw_f2_v10`, 0) >= 4
        )
        OR NOT `k3`.`k` IS NULL
      )
      AND `k5`.`k` IS NULL
    )
    AND (
      (
        `q7`.`r1` IS NULL OR NOT 5 * (
          `q7`.`r1` - 1
        ) >= 3 * `q7`.`c1`
      )
      OR (
        `q7`.`r2` IS NULL OR NOT 5 * (
          `q7`.`r2` - 1
        ) >= 3 * `q7`.`c2`
      )
      OR (
        `q7`.`r3` IS NULL OR NOT 5 * (
          `q7`.`r3` - 1
        ) >= 3 * `q7`.`c3`
      )
    )
  );

-- segment: lifecycle__at_risk
SELECT
  `e1`.`customer_id` AS `customer_id`,
  COALESCE(`e1`.`_segw_f2_v4`, 0) AS `lifetime_spend`,
  `e1`.`_segw_f2_v2` AS `last_order_at`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
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
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
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
            NOT COALESCE(`e1`.`_segw_f2_v9`, 0) >= 900
            AND NOT COALESCE(`e1`.`_segw_f2_v10`, 0) >= 4
          )
          AND `k5`.`k` IS NULL
        )
        OR NOT `k7`.`k` IS NULL
      )
    )
  );

-- segment: lifecycle__lapsed_customers
SELECT
  `e1`.`customer_id` AS `customer_id`,
  `e1`.`email` AS `email`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
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
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
  WHERE
    NOT `b2`.`customer_id` IS NULL
) AS `q3`
  ON `q3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    (
      `e1`.`_segw_f2_v1` < CAST('2026-05-05 06:00:00' AS DATETIME(6))
      AND (
        `e1`.`_segw_f2_v2` IS NULL
        OR NOT (
          `e1`.`_segw_f2_v2` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
          AND `e1`.`_segw_f2_v2` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
      )
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
            NOT COALESCE(`e1`.`_segw_f2_v9`, 0) >= 900
            AND NOT COALESCE(`e1`.`_segw_f2_v10`, 0) >= 4
          )
          AND `k5`.`k` IS NULL
        )
        OR NOT `k7`.`k` IS NULL
      )
      AND (
        (
          `q3`.`r1` IS NULL OR NOT 5 * (
            `q3`.`r1` - 1
          ) < 2 * `q3`.`c1`
        )
        OR (
          `q3`.`r2` IS NULL OR NOT 5 * (
            `q3`.`r2` - 1
          ) >= 2 * `q3`.`c2`
        )
        OR (
          `q3`.`r3` IS NULL OR NOT 5 * (
            `q3`.`r3` - 1
          ) >= 2 * `q3`.`c3`
        )
      )
    )
  );

-- segment: lifecycle__hibernating
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
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
    `b2`.`customer_id` AS `k`,
    CASE
      WHEN `b2`.`_segw_f2_v2` IS NULL
      THEN NULL
      ELSE RANK() OVER (
        ORDER BY CASE WHEN CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, CASE WHEN `b2`.`_segw_f2_v2` IS NULL THEN 1 ELSE 0 END, `b2`.`_segw_f2_v2`
      )
    END AS `r1`,
    COUNT(`b2`.`_segw_f2_v2`) OVER () AS `c1`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v3`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v3`, 0)
    ) AS `r2`,
    COUNT(*) OVER () AS `c2`,
    RANK() OVER (
      ORDER BY CASE WHEN COALESCE(`b2`.`_segw_f2_v4`, 0) IS NULL THEN 1 ELSE 0 END, COALESCE(`b2`.`_segw_f2_v4`, 0)
    ) AS `r3`,
    COUNT(*) OVER () AS `c3`
  FROM `segments`.`_segw_f_91ec1f932475` AS `b2`
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
      ) < 2 * `q3`.`c2`
      AND 5 * (
        `q3`.`r3` - 1
      ) < 2 * `q3`.`c3`
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
            NOT COALESCE(`e1`.`_segw_f2_v9`, 0) >= 900
            AND NOT COALESCE(`e1`.`_segw_f2_v10`, 0) >= 4
          )
          AND `k5`.`k` IS NULL
        )
        OR NOT `k7`.`k` IS NULL
      )
      AND (
        (
          `q3`.`r1` IS NULL OR NOT 5 * (
            `q3`.`r1` - 1
          ) < 2 * `q3`.`c1`
        )
        OR (
          `q3`.`r2` IS NULL OR NOT 5 * (
            `q3`.`r2` - 1
          ) >= 2 * `q3`.`c2`
        )
        OR (
          `q3`.`r3` IS NULL OR NOT 5 * (
            `q3`.`r3` - 1
          ) >= 2 * `q3`.`c3`
        )
      )
      AND (
        (
          `e1`.`_segw_f2_v1` IS NULL
          OR NOT `e1`.`_segw_f2_v1` < CAST('2026-05-05 06:00:00' AS DATETIME(6))
        )
        OR (
          `e1`.`_segw_f2_v2` > CAST('2026-08-03 06:00:00' AS DATETIME(6))
          AND `e1`.`_segw_f2_v2` <= CAST('2026-11-01 06:00:00' AS DATETIME(6))
        )
      )
    )
  );

-- segment: newsletter_ab_test
SELECT
  `e1`.`customer_id` AS `customer_id`,
  CASE
    WHEN (
      CAST(CONV(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST(`e1`.`customer_id` AS CHAR))), 1, 8),
        16,
        10
      ) AS UNSIGNED) % 10000
    ) < 1000
    THEN 'control'
    WHEN (
      CAST(CONV(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST(`e1`.`customer_id` AS CHAR))), 1, 8),
        16,
        10
      ) AS UNSIGNED) % 10000
    ) < 5500
    THEN 'variant_a'
    ELSE 'variant_b'
  END AS `split`,
  `e1`.`email` AS `email`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    CAST(`l2`.`customer_id` AS CHAR) AS `k`
  FROM `main`.`newsletter` AS `l2`
  WHERE
    NOT `l2`.`customer_id` IS NULL
) AS `k3`
  ON `k3`.`k` = CAST(`e1`.`customer_id` AS CHAR)
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    NOT `k3`.`k` IS NULL
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

-- segment: high_value_cart_abandoners
SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `segments`.`_segw_f_91ec1f932475` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(`e1`.`_segw_f1_v5`, 0) >= 1
    AND COALESCE(`e1`.`_segw_f1_v6`, 0) = 0
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
