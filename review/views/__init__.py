"""The review app's screens, one blueprint module each, wired by `review.app.create_app`."""
