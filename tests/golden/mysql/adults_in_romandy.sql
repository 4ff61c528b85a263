SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
