# The example app's project (examples/app.rs embeds migrations/ into its binary). The CLI
# works on it as on any project: `cargo run -- --dir examples/jetbase status`.
sqlalchemy_url = "sqlite:///jetbase.db"
