SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    (
      CAST("e1"."birthday" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('1960-01-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
      AND CAST("e1"."birthday" AS Nullable(DateTime64(6, 'UTC'))) < CAST('1991-01-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
    )
    AND "e1"."city" IN ('Geneva', 'Lausanne')
    AND leftUTF8(lowerUTF8("e1"."first_name"), 1) = lowerUTF8('l')
    AND (
      "e1"."first_name" IS NULL OR NOT rightUTF8("e1"."first_name", 1) = 'a'
    )
    AND "e1"."customer_id" >= 10
    AND "e1"."customer_id" <= 1990
    AND "e1"."customer_id" > 0
    AND "e1"."customer_id" < 100000
  )
SETTINGS join_use_nulls = 1;
