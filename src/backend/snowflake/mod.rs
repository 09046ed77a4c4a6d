//! Snowflake. So far only key-pair authentication ([`keypair`]): the JWT a login request
//! carries instead of a password. The driver (Snowflake's HTTP login and query API over
//! `backend::http`) comes later, and no connector is registered yet.

pub mod keypair;
