SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    12742.0176 * ASIN(
      SQRT(
        LEAST(
          1.0,
          SIN(CAST((
            "e1"."latitude" - 47.3779
          ) * 0.017453292519943295 AS DOUBLE) / 2) * SIN(CAST((
            "e1"."latitude" - 47.3779
          ) * 0.017453292519943295 AS DOUBLE) / 2) + COS(0.8269003476806214) * COS("e1"."latitude" * 0.017453292519943295) * SIN(CAST((
            "e1"."longitude" - 8.5403
          ) * 0.017453292519943295 AS DOUBLE) / 2) * SIN(CAST((
            "e1"."longitude" - 8.5403
          ) * 0.017453292519943295 AS DOUBLE) / 2)
        )
      )
    ) <= 25.0
    AND "e1"."country" = 'CH'
    AND STRPOS(LOWER("e1"."country"), LOWER('h')) > 0
  );
