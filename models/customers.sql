{{ config(materialized='table') }}
-- Synthetic customers: deterministic attributes from integer arithmetic on the id.
SELECT
  n AS customer_id,
  CASE WHEN n % 41 = 0 THEN CONCAT('staff', n, '@shop.example')
       ELSE CONCAT('customer', n, '@example.com') END AS email,
  CASE n % 8 WHEN 0 THEN 'Anna' WHEN 1 THEN 'Luca' WHEN 2 THEN 'Mia' WHEN 3 THEN 'Noah'
             WHEN 4 THEN 'Lea' WHEN 5 THEN 'Elias' WHEN 6 THEN 'Emma' ELSE 'Liam' END AS first_name,
  CASE WHEN n % 53 = 0 THEN '' WHEN n % 59 = 0 THEN NULL
       ELSE CASE n % 5 WHEN 0 THEN 'Muller' WHEN 1 THEN 'Meier' WHEN 2 THEN 'Schmid'
                       WHEN 3 THEN 'Keller' ELSE 'Weber' END END AS last_name,
  CASE WHEN n % 7 = 0 THEN NULL WHEN n % 7 IN (1, 2, 3) THEN 'female' ELSE 'male' END AS gender,
  CASE n % 6 WHEN 0 THEN 'Zurich' WHEN 1 THEN 'Geneva' WHEN 2 THEN 'Basel' WHEN 3 THEN 'Bern'
             WHEN 4 THEN 'Lausanne' ELSE 'Lugano' END AS city,
  CASE WHEN n % 29 = 0 THEN 'DE' ELSE 'CH' END AS country,
  CASE WHEN n % 97 = 0 THEN CAST('1992-02-29' AS DATE)
       ELSE {{ days_after('1955-01-01', '(n * 37) % 18000') }} END AS birthday,
  CAST(CASE n % 6 WHEN 0 THEN 47.3769 WHEN 1 THEN 46.2044 WHEN 2 THEN 47.5596 WHEN 3 THEN 46.9480
                  WHEN 4 THEN 46.5197 ELSE 46.0037 END
       + ((n * 13) % 101 - 50) * 0.004 AS DECIMAL(9, 6)) AS latitude,
  CAST(CASE n % 6 WHEN 0 THEN 8.5417 WHEN 1 THEN 6.1432 WHEN 2 THEN 7.5886 WHEN 3 THEN 7.4474
                  WHEN 4 THEN 6.6323 ELSE 8.9511 END
       + ((n * 17) % 101 - 50) * 0.004 AS DECIMAL(9, 6)) AS longitude,
  n % 3 <> 0 AS email_opt_in,
  n % 17 = 0 AS suppressed,
  {{ ago('(n * 53) % 900', 'day') }} AS signed_up_at
FROM {{ ref('numbers') }}
WHERE n BETWEEN 1 AND {{ var('shop_customers') }}
