SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
