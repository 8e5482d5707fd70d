"""In-app notifications (消息通知): what happened that a person should know, with an unread count."""
