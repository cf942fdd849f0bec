//! `meshguard-gateway`: serve the policy API.

fn main() -> anyhow::Result<()> {
    let rt = meshguard_gateway::engine::Runtime::new(Default::default())?;
    let v = rt.version()?;
    let _ = v;
    Ok(())
}
