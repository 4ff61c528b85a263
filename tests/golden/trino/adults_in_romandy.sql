SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    (
      CAST("e1"."birthday" AS TIMESTAMP) >= CAST('1960-01-01 00:00:00' AS TIMESTAMP)
      AND CAST("e1"."birthday" AS TIMESTAMP) < CAST('1991-01-01 00:00:00' AS TIMESTAMP)
    )
    AND "e1"."city" IN ('Geneva', 'Lausanne')
    AND SUBSTR(LOWER("e1"."first_name"), 1, 1) = LOWER('l')
    AND (
      "e1"."first_name" IS NULL
      OR NOT SUBSTR("e1"."first_name", LENGTH("e1"."first_name") - (
        1 - 1
      )) = 'a'
    )
    AND "e1"."customer_id" >= 10
    AND "e1"."customer_id" <= 1990
    AND "e1"."customer_id" > 0
    AND "e1"."customer_id" < 100000
  );
