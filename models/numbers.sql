{{ config(materialized='table') }}
-- 0 .. 99999, from ten digits: portable row generation without generate_series.
SELECT d1.n + 10 * d2.n + 100 * d3.n + 1000 * d4.n + 10000 * d5.n AS n
FROM {{ ref('digits') }} AS d1
CROSS JOIN {{ ref('digits') }} AS d2
CROSS JOIN {{ ref('digits') }} AS d3
CROSS JOIN {{ ref('digits') }} AS d4
CROSS JOIN {{ ref('digits') }} AS d5
