"""Read models across domains: dashboards, heat maps, agreement panels, personal data export."""
