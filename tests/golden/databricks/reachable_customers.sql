SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
LEFT JOIN (
  SELECT DISTINCT
    `e2`.`customer_id` AS `k`
  FROM `main`.`customers` AS `e2`
  WHERE
    NOT `e2`.`customer_id` IS NULL
    AND (
      COALESCE((
        `e2`.`suppressed` = TRUE
      ), FALSE)
      OR NOT COALESCE((
        `e2`.`email_opt_in` = TRUE
      ), FALSE)
      OR NOT COALESCE((
        LOCATE('@', `e2`.`email`) > 0
      ), FALSE)
      OR COALESCE((
        REGEXP_LIKE(`e2`.`email`, '^staff[0-9]+@')
      ), FALSE)
    )
) AS `k3`
  ON `k3`.`k` = `e1`.`customer_id`
WHERE
  NOT `e1`.`customer_id` IS NULL AND NOT NOT `k3`.`k` IS NULL;
