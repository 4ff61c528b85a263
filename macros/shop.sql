{# Portable helpers for the example models: each engine's own date arithmetic. #}
{% macro ago(amount, unit) -%}
  {%- if target.type in ('mysql', 'mariadb') -%}
    (CAST('{{ as_of }}' AS DATETIME) - INTERVAL ({{ amount }}) {{ unit | upper }})
  {%- else -%}
    (CAST('{{ as_of }}' AS TIMESTAMP) - ({{ amount }}) * INTERVAL '1 {{ unit }}')
  {%- endif -%}
{%- endmacro %}

{% macro days_after(date_text, amount) -%}
  {%- if target.type in ('mysql', 'mariadb') -%}
    (CAST('{{ date_text }}' AS DATE) + INTERVAL ({{ amount }}) DAY)
  {%- else -%}
    CAST(CAST('{{ date_text }}' AS DATE) + ({{ amount }}) * INTERVAL '1 day' AS DATE)
  {%- endif -%}
{%- endmacro %}

{# Used by `sql:` conditions: customers whose email is at the shop's own domain. #}
{% macro staff_email(column) -%}
  {{ column }} LIKE '%@shop.example'
{%- endmacro %}
