"""Values a template reads on a model instance that the model does not hold (an entry's
body as the panel renders it, a search hit's matched sources, ...): set by the code that
prepares the page, and named where they are set."""


def shown(obj: object, **values: object) -> None:
    """Set `values` on `obj` for the template."""
    for name, value in values.items():
        setattr(obj, name, value)
