SELECT
  `e1`.`customer_id` AS `customer_id`
FROM `main`.`customers` AS `e1`
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
