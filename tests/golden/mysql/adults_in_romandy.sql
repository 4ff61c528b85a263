SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(
      (
        CAST(`e1`.`birthday` AS DATETIME(6)) >= CAST('1960-01-01 00:00:00' AS DATETIME(6))
        AND CAST(`e1`.`birthday` AS DATETIME(6)) <= CAST('1990-12-31 00:00:00' AS DATETIME(6))
      ),
      FALSE
    )
    AND COALESCE((
      (`e1`.`city` COLLATE utf8mb4_bin) IN ('Geneva', 'Lausanne')
    ), FALSE)
    AND COALESCE((
      LEFT(LOWER(`e1`.`first_name`), 1) = LOWER('l')
    ), FALSE)
    AND NOT COALESCE((
      RIGHT((`e1`.`first_name` COLLATE utf8mb4_bin), 1) = 'a'
    ), FALSE)
    AND COALESCE((
      `e1`.`customer_id` >= 10
    ), FALSE)
    AND COALESCE((
      `e1`.`customer_id` <= 1990
    ), FALSE)
    AND COALESCE((
      `e1`.`customer_id` > 0
    ), FALSE)
    AND COALESCE((
      `e1`.`customer_id` < 100000
    ), FALSE)
  );
