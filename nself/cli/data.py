"""`nself data`: the rows of an environment: export, import, anonymize, reset. Each command
lives in its own module and registers itself here."""

from __future__ import annotations

from nself.cli.safety import App

app = App(help="Data utilities: export, import, anonymize, reset.", no_args_is_help=True)

from nself.cli import data_reset  # noqa: E402  (registers into app, so it comes after it)

data_reset.register(app)

from nself.cli import data_io  # noqa: E402  (registers into app, so it comes after it)

data_io.register(app)

from nself.cli import data_anonymize  # noqa: E402  (registers into app, so it comes after it)

data_anonymize.register(app)
