from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import WebForm


class LoginForm(WebForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an email address like name@example.com."),
            Length(max=254),
        ],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )
