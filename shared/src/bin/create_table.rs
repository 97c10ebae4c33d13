//! `cargo run -p shared --features local --bin create-table -- [NAME] [TEMPLATE]`: creates the
//! table defined in `template.yaml` (default name `voice-proxy`) at `AWS_ENDPOINT_URL_DYNAMODB`.

use shared::table;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "voice-proxy".into());
    let template = args.next().unwrap_or_else(|| "template.yaml".into());
    let spec = table::spec_from_template(&template)?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    if table::create(&client, &name, &spec).await? {
        println!("created table {name} from {template}");
    } else {
        println!("table {name} exists");
    }
    Ok(())
}
