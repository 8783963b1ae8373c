from fastgrad._bind import bind
bind(globals(), "losses")
