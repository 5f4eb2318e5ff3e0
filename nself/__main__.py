from nself.cli.main import run

run()
