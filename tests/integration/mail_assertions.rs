//! Mail assertions that must fail, against the real helpdesk's `/lab/mail` (its mail queue,
//! real MIME built with lettre, read back from the staging mail report): a body that lacks a
//! text, a body that has one (quoted with the code masked), an attachment that is not there,
//! one that several could be, and a sequence of subjects out of order. The passing side is
//! the lab suite (tests/lab/mail.yaml, mail-sequence.yaml).

use serde_json::Value;

use crate::support::*;

/// A flow that opens `/lab/mail` for `email`, presses `buttons` in turn (waiting for each
/// result), then runs `check`.
fn flow(id: &str, email: &str, buttons: &[(&str, &str)], check: &str) -> String {
    let mut steps =
        format!("  - goto: /lab/mail\n  - fill: {{ label: Customer email, value: {email} }}\n");
    for (i, (button, result)) in buttons.iter().enumerate() {
        let mark = if i == 0 { ", mark: first" } else { "" };
        steps.push_str(&format!(
            "  - click: {{ role: button, name: {button}{mark} }}\n  - expect: {{ test_id: result, has_text: \"{result}\" }}\n"
        ));
    }
    format!("id: {id}\ntitle: {id}\nuser: requester\nsteps:\n{steps}  - {check}\n")
}

fn last_error<'r>(report: &'r Value, id: &str) -> &'r str {
    let f = crate::support::flow(report, id);
    assert_eq!(f["status"], "failed", "{id}: {f:#}");
    f["steps"]
        .as_array()
        .and_then(|s| s.last())
        .and_then(|s| s["error"].as_str())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_assertions_fail_saying_what_the_message_lacks_and_never_print_a_code() {
    let app = helpdesk().await;
    let base = app.url();
    let flows = [
        (
            "body-lacks",
            flow(
                "body-lacks",
                "lacks@lab.test",
                &[("Open ticket", "opened")],
                "mail: { to: lacks@lab.test, subject: opened, body: { contains: [Printer on fire, refund approved], regex: 'closed ticket' } }",
            ),
        ),
        (
            "body-has-code",
            flow(
                "body-has-code",
                "code@lab.test",
                &[("Send closing code", "code")],
                "mail: { to: code@lab.test, subject: Confirm closing, body: { not_contains: enter the code } }",
            ),
        ),
        (
            "no-such-attachment",
            flow(
                "no-such-attachment",
                "pdf@lab.test",
                &[("Email transcript", "Transcript")],
                "mail: { to: pdf@lab.test, subject: Transcript, attachment: { name: .pdf } }",
            ),
        ),
        (
            "which-attachment",
            flow(
                "which-attachment",
                "which@lab.test",
                &[("Email transcript", "Transcript")],
                "mail: { to: which@lab.test, subject: Transcript, attachment: { size: ..1MB } }",
            ),
        ),
        (
            "attachment-differs",
            flow(
                "attachment-differs",
                "differs@lab.test",
                &[("Email transcript", "Transcript")],
                "mail: { to: differs@lab.test, subject: Transcript, attachment: { name: .csv, size: 1KB.., contains: refund } }",
            ),
        ),
        (
            "sequence-differs",
            flow(
                "sequence-differs",
                "order@lab.test",
                &[("Open ticket", "opened"), ("Agent reply", "updated")],
                "mails: { to: order@lab.test, since: first, subjects: [opened, Transcript], timeout: 2s }",
            ),
        ),
    ];
    let files: Vec<(String, String)> = flows
        .iter()
        .map(|(id, body)| (format!("{id}.yaml"), body.clone()))
        .collect();
    let suite = temp_suite(&files);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .args(["--skip-health-check"])
        .output()
        .await;
    assert_eq!(out.code, 1, "every flow fails on purpose\n{}", out.all());
    let artifacts = suite.path().join("artifacts");
    let report = read_json(&run_dir(&artifacts).join("staging-run-report.json"));

    let e = last_error(&report, "body-lacks");
    assert!(
        e.contains(r#"the body (text part) does not contain ~"refund approved""#)
            && e.contains("the body (text part) does not match /closed ticket/")
            && e.contains(
                r#"begins "Hello, We received your request "Printer on fire" and opened ticket #"#
            )
            && !e.contains(r#"contain ~"printer on fire""#),
        "{e}"
    );
    assert!(
        e.contains("after step 3 (click) started at"),
        "names the window: {e}"
    );

    // The quoted line carries the code: masked, and the code is nowhere in clear.
    let e = last_error(&report, "body-has-code");
    let masked = regex::Regex::new(r#"contains ~"enter the code" \("To confirm closing ticket #\d+, enter the code \d\d••••\."\), expected not"#)
        .expect("regex");
    assert!(masked.is_match(e), "{e}");
    let mail_report = reqwest::Client::new()
        .get(format!(
            "{base}/staging/e2e/mail-report?emails=code@lab.test"
        ))
        .header("X-Staging-E2E-Secret", SECRET)
        .send()
        .await
        .expect("mail report")
        .text()
        .await
        .expect("mail report body");
    let code = regex::Regex::new(r#""otp"\s*:\s*"(\d{6})""#)
        .expect("regex")
        .captures(&mail_report)
        .map(|c| c[1].to_owned())
        .expect("the helpdesk reports the code it sent");
    assert!(
        !out.all().contains(&code),
        "the code in the output:\n{}",
        out.all()
    );
    let leaked = any_file_contains(&artifacts, &code);
    assert!(leaked.is_empty(), "the code {code} in {leaked:?}");

    let e = last_error(&report, "no-such-attachment");
    let listed = regex::Regex::new(
        r#"no attachment named ~"\.pdf"; its attachments: "transcript-\d+\.txt" \(text/plain, \d+ bytes\), "ticket-\d+\.csv" \(text/csv, 47 bytes\)"#,
    )
    .expect("regex");
    assert!(listed.is_match(e), "{e}");

    let e = last_error(&report, "which-attachment");
    assert!(
        e.contains("2 attachments could be the one:") && e.contains("add `name:` (or `type:`)"),
        "{e}"
    );

    // The attachment is judged after it is kept: the failure points at the file.
    let e = last_error(&report, "attachment-differs");
    let differs = regex::Regex::new(
        r#"attachment "ticket-(\d+)\.csv": it has 47 bytes, expected at least 1000 bytes, its text does not contain ~"refund" \(kept as attachment-differs/attachments/ticket-\d+\.csv\)"#,
    )
    .expect("regex");
    let ticket = differs
        .captures(e)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("{e}"));
    let kept = run_dir(&artifacts).join(format!(
        "attachment-differs/attachments/ticket-{ticket}.csv"
    ));
    assert_eq!(
        std::fs::read_to_string(&kept).expect("the attachment is kept"),
        "subject,status,agent\nPrinter on fire,open,Alex\n"
    );
    // Listed among the flow's artifacts although the step failed on it.
    let listed = crate::support::flow(&report, "attachment-differs")["artifacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        listed.iter().any(|a| a["kind"] == "attachment"
            && a["path"] == format!("attachment-differs/attachments/ticket-{ticket}.csv")),
        "{listed:?}"
    );

    let e = last_error(&report, "sequence-differs");
    let sequence = regex::Regex::new(
        r#"2 messages to order@lab\.test arrived since mark `first` \([\d:.]+ UTC\) within 2s, expected 2: 1\. "Ticket #\d+ opened: Printer on fire", expected ~"opened": ok; 2\. "Ticket #\d+ updated: an agent replied", expected ~"transcript": differs"#,
    )
    .expect("regex");
    assert!(sequence.is_match(e), "{e}");
    app.shutdown().await;
}
