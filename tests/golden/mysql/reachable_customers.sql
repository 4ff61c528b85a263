SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
