from nself.cli.entry import run

run()
