//! Everything an SMTP server sends, as one hostile byte stream: the dialogue (replies,
//! STARTTLS, the TLS handshake) ends without panicking and without waiting.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        // Large enough that neither side's writes wait for the other.
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let bytes = data.to_vec();
        let server = tokio::spawn(async move {
            let _ = server.write_all(&bytes).await;
            let _ = server.shutdown().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
        let Ok(ehlo_name) = "fuzz.invalid".parse::<mtasts::input::EhloName>() else {
            return;
        };
        let params = mtasts::net::smtp::Params {
            host: "mx.example.com",
            ehlo_name: &ehlo_name,
            timeout: Duration::from_millis(200),
            deadline: tokio::time::Instant::now() + Duration::from_secs(1),
        };
        let _ = mtasts::net::smtp::session(client, &params).await;
        let _ = server.await;
    });
});
