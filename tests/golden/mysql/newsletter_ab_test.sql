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
FROM `main`.`customers` AS `e1`
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
