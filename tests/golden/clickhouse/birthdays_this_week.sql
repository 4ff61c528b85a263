SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    EXTRACT(MONTH FROM CAST("e1"."birthday" AS Nullable(DateTime64(6, 'UTC')))) * 100 + EXTRACT(DAY FROM CAST("e1"."birthday" AS Nullable(DateTime64(6, 'UTC')))) IN (1101, 1102, 1103, 1104, 1105, 1106, 1107)
    AND CAST("e1"."birthday" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2008-01-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
  )
SETTINGS join_use_nulls = 1;
