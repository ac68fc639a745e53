"""One module per `holdtimer` subcommand (see holdtimer.cli.COMMANDS)."""
