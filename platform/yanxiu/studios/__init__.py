"""Famous-teacher studios (名师工作室): members, case resources and targeted pushes."""
