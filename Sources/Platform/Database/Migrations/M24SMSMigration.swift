extension CoreMigrations {
    /// SMS as a notification channel (issue 16, 短信): a user's mobile number (set by the
    /// tenant's administrators), the SMS choice per user and kind beside the e-mail one, and the
    /// tenant's switch — off until an administrator turns it on, since messages cost money.
    static let sms = Migration(
        version: 24,
        name: "sms_channel",
        statements: [
            "ALTER TABLE users ADD COLUMN mobile text CHECK (mobile ~ '^\\+?[0-9]{6,20}$')",
            "ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_channel_check",
            "ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_channel_check CHECK (channel IN ('email', 'sms'))",
            "ALTER TABLE tenant_mail_settings ADD COLUMN sms_enabled boolean NOT NULL DEFAULT false",
        ]
    )
}
