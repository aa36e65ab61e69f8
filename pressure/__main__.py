from pressure.cli import app

app(prog_name="pressure")
