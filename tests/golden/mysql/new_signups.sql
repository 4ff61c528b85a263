SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
