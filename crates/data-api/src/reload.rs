//! Keeps the schema cache current: a dedicated connection LISTENs on channel `pgrst` and reloads
//! on `reload schema` (or an empty payload), as PostgREST does. When that connection drops it
//! reconnects and reloads, since notifications sent while disconnected are lost.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::poll_fn;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::schema::SchemaCache;
use crate::server::AppState;

/// Wait between reconnection attempts while the database is unreachable.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

pub async fn keep_schema_fresh(db: tokio_postgres::Config, state: Arc<AppState>) {
    loop {
        if let Err(e) = listen_once(&db, &state).await {
            tracing::warn!(error = %e, "schema listener disconnected; reconnecting");
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

async fn listen_once(
    db: &tokio_postgres::Config,
    state: &AppState,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = db.connect(NoTls).await?;
    let (tx, mut notifications) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "schema listener connection failed");
                    break;
                }
            }
        }
    });
    client.batch_execute("LISTEN pgrst").await?;
    reload(&client, state).await?;
    while let Some(payload) = notifications.recv().await {
        if payload.is_empty() || payload == "reload schema" {
            reload(&client, state).await?;
        }
    }
    driver.abort();
    Ok(())
}

async fn reload(
    client: &tokio_postgres::Client,
    state: &AppState,
) -> Result<(), tokio_postgres::Error> {
    let cache = SchemaCache::load(client).await?;
    tracing::info!(functions = cache.function_count(), "schema cache loaded");
    if let Ok(mut slot) = state.schema.write() {
        *slot = Some(Arc::new(cache));
    }
    Ok(())
}
