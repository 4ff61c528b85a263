SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
WHERE
  NOT `e1`.`customer_id` IS NULL
  AND (
    COALESCE(
      (
        CAST(`e1`.`birthday` AS TIMESTAMP) >= CAST('1960-01-01 00:00:00' AS TIMESTAMP)
        AND CAST(`e1`.`birthday` AS TIMESTAMP) <= CAST('1990-12-31 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
    AND COALESCE((
      `e1`.`city` IN ('Geneva', 'Lausanne')
    ), FALSE)
    AND COALESCE((
      LEFT(LOWER(`e1`.`first_name`), 1) = LOWER('l')
    ), FALSE)
    AND NOT COALESCE((
      RIGHT(`e1`.`first_name`, 1) = 'a'
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
