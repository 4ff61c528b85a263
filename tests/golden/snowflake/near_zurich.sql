SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID"
FROM "MAIN"."CUSTOMERS" AS "E1"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    12742.0176 * ASIN(
      SQRT(
        LEAST(
          1.0,
          SIN((
            "E1"."LATITUDE" - 47.3779
          ) * 0.017453292519943295 / 2) * SIN((
            "E1"."LATITUDE" - 47.3779
          ) * 0.017453292519943295 / 2) + COS(0.8269003476806214) * COS("E1"."LATITUDE" * 0.017453292519943295) * SIN((
            "E1"."LONGITUDE" - 8.5403
          ) * 0.017453292519943295 / 2) * SIN((
            "E1"."LONGITUDE" - 8.5403
          ) * 0.017453292519943295 / 2)
        )
      )
    ) <= 25.0
    AND "E1"."COUNTRY" = 'CH'
    AND CHARINDEX(LOWER('h'), LOWER("E1"."COUNTRY")) > 0
  );
